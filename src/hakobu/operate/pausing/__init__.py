"""`hakobu pause` / `hakobu resume`: stop paying for an idle environment, then bring it back.

The guide's third cost cut ("使わない時はリソースを停止: -$70〜90/月") as two commands:

- pause: the service to zero tasks (`update_service`, not written to hakobu.toml: a pause
  is temporary), the DB instance stopped (its storage keeps billing). `--deep` also
  removes the NAT Gateways and the ALB through Terraform (`blueprint.render(paused=True)`,
  see `blueprint/paused.py`), keeping the VPC, the DB, images, secrets, logs, the service
  and its target group.
- resume: the DB started (and waited for), with `--deep` state the normal document applied
  again, then the desired count and the task-definition revision recorded at pause time
  put back, and the app waited for until it is healthy.

Where tasks really run (`runs_tasks`: AWS, and the sandbox whose runtime has a container
engine) a resume waits for health; in such a sandbox a pause also waits until the service's
containers and the DB server are down, which takes seconds there. On AWS a pause returns
while RDS is still "stopping" (minutes): nothing after it needs the DB down.

The modules, by concern (import each name from its module; this package exports nothing):

- `record`: what a pause changed, in `.hakobu/<env>/paused.json` (`.hakobu/sandbox/<env>/`
  for the sandbox), written BEFORE anything changes so a pause that fails half-way can
  still be resumed; and the notice `hakobu up` / `plan` print while one is in effect.
- `saving`: what a pause saves a month, from `provision.cost` and the price table (pure).
- `plan`: the facts read from AWS, and what a pause or a resume will do (pure).
- `wait`: polling until the tasks are gone, the DB has a status, the app is healthy.
- `execute`: carrying a plan out, one or a few boto3 calls (through `aws/`) per step.

`operate/pause_flow.py` puts them in order for the CLI. Nothing here prints.
"""
