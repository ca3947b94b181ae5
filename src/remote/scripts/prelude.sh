# Prepended by clawops to every script it runs on a host.
set -eu
D="$HOME/.clawops"
export PATH="$D/node/bin:$D/openclaw/bin:$PATH"
