# remove: after the service is removed, delete the gateway's data and the runtime clawops
# installed (as the service user). The instance's key is removed by forget-key.sh.
rm -rf "$HOME/.openclaw" "$D"
echo "removed ~/.openclaw and ~/.clawops"
