//! A started clawops whose fleet is a host farm: N pretend OpenClaw hosts on loopback,
//! each reached over real SSH (russh both sides) and seeded into the store as deployed.
#![allow(dead_code)]

use clawops::clock::Clock;
use clawops::farm::{Behaviour, Farm, Fault};

use super::door_fx::Fx;

pub struct FarmFx {
    pub fx: Fx,
    pub farm: Farm,
    /// clawops' clock (the farm runs on real time).
    pub clock: Clock,
}

impl FarmFx {
    /// clawops with `[providers.ssh]` and `extra`, and `count` healthy farm hosts.
    pub async fn start(count: usize, extra: &str) -> FarmFx {
        let clock = Clock::manual(chrono::Utc::now());
        let fx = Fx::start_with(
            tempfile::tempdir().unwrap(),
            &format!("[providers.sim]\nenabled = true\n[providers.ssh]\nenabled = true\n{extra}"),
            clock.clone(),
        )
        .await;
        let ctx = fx.app.bot.door().ctx();
        let farm = Farm::start(count, "farm", fx.app.config.deploy.gateway_port)
            .await
            .unwrap();
        let seeded =
            clawops::farm::seed::seed(&ctx.store, &ctx.vault, &ctx.clock, &farm.manifest())
                .await
                .unwrap();
        for s in seeded {
            farm.authorize(&s.name, s.key, &s.token).unwrap();
        }
        FarmFx { fx, farm, clock }
    }

    /// One scheduled sweep, a minute after the last.
    pub async fn sweep(&self) -> String {
        self.clock.advance(std::time::Duration::from_secs(60));
        self.fx.sweep().await
    }

    /// Gives host `name` `fault` (keeping its other behaviour).
    pub async fn fault(&self, name: &str, fault: Fault) {
        let host = self.farm.host(name).unwrap();
        let behaviour = Behaviour {
            fault,
            ..host.behaviour()
        };
        self.farm.set(name, behaviour).await.unwrap();
    }

    pub async fn say(&self, text: &str) -> String {
        self.fx.say_as(super::door_fx::OPERATOR, text).await.0
    }
}
