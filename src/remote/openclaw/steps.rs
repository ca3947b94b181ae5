//! The deploy's host steps on a real host: authorize the instance's key, prepare the host,
//! install Node and OpenClaw, write the gateway config, start the service. Each has a
//! check (already done?) and an apply; the scripts are in `remote/scripts/`.

use super::*;

impl OpenclawHost {
    pub(super) async fn authorize_key(&self) -> Result<String, RemoteError> {
        let key = self.access.instance_key(&self.instance).await?;
        let public = key
            .public_key()
            .to_openssh()
            .map_err(|e| RemoteError::State(e.to_string()))?;
        let Some(bootstrap) = self.bootstrap().cloned() else {
            let why = if self.access.bootstrap.is_some() {
                "[providers.ssh] bootstrap_hosts does not name this host, so the bootstrap credential is not offered to it"
            } else {
                "there is no bootstrap credential ([providers.ssh] bootstrap_key_file or bootstrap_password_env, with bootstrap_hosts)"
            };
            return Err(RemoteError::Refused(format!(
                "clawops cannot log in to {} yet: {why}. Add this line to ~{}/.ssh/authorized_keys on the host and resume:\n{public}",
                self.target, self.target.user
            )));
        };
        let session = self.connect(&bootstrap).await?;
        let add = "umask 077; mkdir -p ~/.ssh; touch ~/.ssh/authorized_keys; grep -qxF \"$1\" ~/.ssh/authorized_keys || printf '%s\\n' \"$1\" >> ~/.ssh/authorized_keys";
        let command = format!(
            "sh -c {} authorize {}",
            shlex::try_quote(add).map_err(|e| RemoteError::Refused(e.to_string()))?,
            shlex::try_quote(&public).map_err(|e| RemoteError::Refused(e.to_string()))?
        );
        let out = session.run(&command, None, SHORT).await?;
        session.close().await;
        if !out.ok() {
            return Err(self.failed("authorize-key", &out));
        }
        self.forget_session().await;
        self.session().await?;
        Ok(format!(
            "instance key {} authorized for {}; host key {} pinned",
            fingerprint(key.public_key()),
            self.target.user,
            self.pinned_fingerprint().await?
        ))
    }

    pub(super) async fn pinned_fingerprint(&self) -> Result<String, RemoteError> {
        Ok(self
            .access
            .store
            .host_key(&self.target.url())
            .await
            .map_err(state)?
            .map(|r| r.fingerprint)
            .unwrap_or_else(|| "(none)".into()))
    }

    /// Whether host step `step` is already done on this host.
    pub(super) async fn step_is_done(
        &self,
        step: HostStep,
        plan: &HostPlan,
    ) -> Result<bool, RemoteError> {
        if self.cell.is_some() {
            return match step {
                // The cell host is prepared already; its image and the cell's home are
                // checked by doing (quick when there).
                HostStep::PrepareHost => Ok(false),
                HostStep::AuthorizeKey | HostStep::InstallNode | HostStep::InstallOpenclaw => {
                    Ok(true)
                }
                HostStep::ConfigureGateway | HostStep::StartGateway => {
                    self.common_step_done(step).await
                }
            };
        }
        match step {
            HostStep::ConfigureGateway | HostStep::StartGateway => {
                self.common_step_done(step).await
            }
            HostStep::AuthorizeKey => {
                let key = self.access.instance_key(&self.instance).await?;
                match self.connect(&Credential::Key(key)).await {
                    Ok(s) => {
                        s.close().await;
                        Ok(true)
                    }
                    Err(RemoteError::Ssh(SshError::AuthFailed { .. })) => Ok(false),
                    Err(e) => Err(e),
                }
            }
            HostStep::PrepareHost => {
                if !self.as_root() {
                    return Ok(false);
                }
                let out = self
                    .script_as(
                        "test -e /var/lib/clawops/prepared && echo yes || true",
                        &[],
                        SHORT,
                        true,
                    )
                    .await?;
                Ok(out.stdout_text().trim() == "yes")
            }
            HostStep::InstallNode => Ok(self
                .node_version()
                .await?
                .is_some_and(|v| node_supported(&v))),
            HostStep::InstallOpenclaw => {
                Ok(self.installed_version().await?.as_deref()
                    == Some(plan.openclaw_version.as_str()))
            }
        }
    }

    /// The config and the running gateway: checked alike on a server and in a cell.
    async fn common_step_done(&self, step: HostStep) -> Result<bool, RemoteError> {
        if step == HostStep::ConfigureGateway {
            let (home, current) = self.read_config().await?;
            let Some(current) = current else {
                return Ok(false);
            };
            return Ok(self.managed_config(&home, Some(current.clone())).await? == current);
        }
        let (running, suspended) = self.service_status().await?;
        if !running || suspended {
            return Ok(false);
        }
        let tunnel = self.tunnel().await?;
        let probe = gateway::probe(&tunnel.local.to_string()).await;
        Ok(probe.readiness.is_some_and(|r| r.ready))
    }

    /// Does host step `step`.
    pub(super) async fn run_step(
        &self,
        step: HostStep,
        plan: &HostPlan,
    ) -> Result<String, RemoteError> {
        match step {
            HostStep::PrepareHost if self.cell.is_some() => {
                let args = self.image_args(&plan.openclaw_version);
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let image = self.cell_host_script("image", &args, OPENCLAW_TIME).await?;
                let home = self.cell_script("home", &plan.openclaw_version).await?;
                Ok(format!("{image}; {home}"))
            }
            HostStep::AuthorizeKey | HostStep::InstallNode | HostStep::InstallOpenclaw
                if self.cell.is_some() =>
            {
                Ok("in the cell's image".into())
            }
            HostStep::AuthorizeKey => self.authorize_key().await,
            HostStep::PrepareHost => {
                let out = self.script_as(PREPARE, &[], NODE_TIME, true).await?;
                if out.ok() {
                    Ok(out.stdout_text().trim().to_string())
                } else {
                    Err(self.failed("prepare-host", &out))
                }
            }
            HostStep::InstallNode => {
                let r = &self.runtime;
                let source = match r.node_source {
                    NodeSource::Nodejs => "nodejs",
                    NodeSource::Npm => "npm",
                };
                self.script_ok(
                    "install-node",
                    NODE,
                    &[source, &r.node_version, &r.npm_registry, &r.npm_version],
                    NODE_TIME,
                )
                .await
            }
            HostStep::InstallOpenclaw => {
                self.script_ok(
                    "install-openclaw",
                    OPENCLAW,
                    &[&plan.openclaw_version],
                    OPENCLAW_TIME,
                )
                .await
            }
            HostStep::ConfigureGateway => {
                let (home, current) = self.read_config().await?;
                let config = self.managed_config(&home, current.clone()).await?;
                self.write_config(&config, current.as_ref()).await?;
                Ok(format!(
                    "gateway on 127.0.0.1:{} (loopback only), token auth, log {home}/{LOG_FILE}{}",
                    self.runtime.gateway_port,
                    if self.bot_token().await?.is_some() {
                        ", Telegram with dmPolicy pairing"
                    } else {
                        "; no Telegram bot token yet (/config NAME set channels.telegram.botToken …)"
                    }
                ))
            }
            HostStep::StartGateway => {
                let (running, _) = self.service_status().await?;
                self.start_and_wait(if running { "restart" } else { "start" })
                    .await
            }
        }
    }
}
