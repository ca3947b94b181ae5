# Prepended by clawops to every script it runs on a host.
set -eu
# A cell keeps clawops' files beside its home, where the tenant cannot reach them.
D="${CLAWOPS_D:-$HOME/.clawops}"
export PATH="$D/node/bin:$D/openclaw/bin:$PATH"
