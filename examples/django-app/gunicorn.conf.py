"""gunicorn's settings in the container: `gunicorn --config gunicorn.conf.py config.wsgi`.

GUNICORN_CMD_ARGS overrides any of them without a rebuild, e.g. "--workers 4".
"""

import os

# hakobu sets PORT from `service.port` in hakobu.toml; the ALB sends traffic there.
bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"

# Fargate's default task is 0.25 vCPU and 512 MiB: two processes of two threads each keep
# memory near 150 MiB and still overlap database waits. For bigger tasks, raise
# WEB_CONCURRENCY to about 2 per vCPU (gunicorn cannot count Fargate's vCPUs itself).
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "2"))
worker_class = "gthread"

# A request that takes longer than this is killed and logged: never a hung worker.
timeout = 30
# ECS sends SIGTERM, then SIGKILL 30 s later: in-flight requests get 25 s to finish.
graceful_timeout = 25
# Longer than the ALB's 60 s idle timeout, so the ALB, not gunicorn, closes idle
# connections; otherwise the ALB can reuse a socket gunicorn just closed and answer 502.
keepalive = 75

# Access log to stdout (CloudWatch Logs), with the client's address from the ALB's
# X-Forwarded-For and the time taken in seconds; errors to stderr.
accesslog = "-"
access_log_format = '%({x-forwarded-for}i)s "%(r)s" %(s)s %(b)s %(L)ss "%(a)s"'
errorlog = "-"

# Worker heartbeats on a memory filesystem rather than the container's overlay disk.
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"

# No control socket (gunicorn >= 25 opens one under $HOME): nothing in the container uses
# it, and the app's user has no home directory.
control_socket_disable = True
