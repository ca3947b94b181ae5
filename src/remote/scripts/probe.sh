# probe: load, memory, disk and Docker, one line each as key=value. Args: none.
cores=$(nproc 2>/dev/null || echo 1)
echo "load=$(cut -d' ' -f1 /proc/loadavg) cores=$cores"
awk '/^MemTotal:/{t=$2} /^MemAvailable:/{a=$2} END{print "mem_total=" t " mem_avail=" a}' /proc/meminfo
echo "disk=$(df -P "$HOME" | awk 'NR==2{gsub("%","",$5); print $5}')"
if command -v docker >/dev/null 2>&1; then
  if docker info >/dev/null 2>&1; then echo "docker=up"; else echo "docker=down"; fi
else
  echo "docker=absent"
fi
