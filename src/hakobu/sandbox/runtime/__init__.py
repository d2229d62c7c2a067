"""The sandbox runtime's building blocks: containers, databases and the load balancer.

Each module stands alone and knows nothing of moto: `engine` drives docker or podman,
`database` runs a real MySQL/MariaDB or PostgreSQL server per RDS instance as a local
process, `balancer` is the ALB on 127.0.0.1. The bridge and controller put them together.
"""
