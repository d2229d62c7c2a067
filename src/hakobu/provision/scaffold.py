"""`hakobu init`: detect the kind of app and write a commented `hakobu.toml`."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path

from hakobu.core.config import APP_NAME_PATTERN, CONFIG_FILE, DEFAULT_RELEASE_COMMANDS
from hakobu.core.errors import HakobuError
from hakobu.provision.procfile import Procfile, processes_toml, read_procfile


@dataclass(frozen=True)
class Detected:
    framework: str
    port: int
    health_check_path: str
    database_password_env: str
    reason: str
    # The guide's database user and name (`myapp`, `myapp_production`) for a Rails app.
    database_user: str = "app"
    database_name: str | None = None
    # Where `port` came from, for people: the Dockerfile's EXPOSE or the framework's default.
    port_source: str = ""
    # The RDS engine of the database the app's own files name, and which file said so.
    database_engine: str = "mysql"
    engine_source: str = ""
    # The Procfile's processes beside web, when there is a Procfile.
    procfile: Procfile | None = None
    # The file that says the app stores files (Active Storage, django-storages), if any.
    storage_source: str | None = None


def detect(root: Path) -> Detected:
    """The kind of app, with the port its image exposes when the Dockerfile says."""
    from hakobu.provision.dockerfile import exposed_port

    detected = _with_engine(root, _detect_framework(root))
    exposed = exposed_port(root)
    if exposed is not None:
        return replace(detected, port=exposed.port, port_source=exposed.source)
    return replace(
        detected,
        port_source=f"the {detected.framework} default (no EXPOSE found in a Dockerfile)",
    )


def _detect_framework(root: Path) -> Detected:
    """Rails by config/application.rb + config/master.key, Django by manage.py."""
    if (root / "config" / "application.rb").is_file() and (
        root / "config" / "master.key"
    ).is_file():
        module = _rails_module(root / "config" / "application.rb")
        # Rails' generated database.yml reads <APP>_DATABASE_PASSWORD.
        password_env = f"{module.upper()}_DATABASE_PASSWORD" if module else "DATABASE_PASSWORD"
        user = module.lower() if module else "app"
        return Detected(
            "rails",
            3000,
            "/up",
            password_env,
            "config/application.rb and config/master.key",
            database_user=user,
            database_name=f"{user}_production",
        )
    if (root / "manage.py").is_file():
        return Detected("django", 8000, "/up", "DATABASE_PASSWORD", "manage.py")
    return Detected("container", 8080, "/", "DATABASE_PASSWORD", "no Rails or Django files")


def _with_engine(root: Path, detected: Detected) -> Detected:
    from hakobu.provision.engine_detection import FAMILY_ENGINES, detect_family

    guess = detect_family(root, detected.framework)
    if guess is None:
        return replace(detected, engine_source="the default (no database driver found)")
    return replace(
        detected, database_engine=FAMILY_ENGINES[guess.family][0], engine_source=guess.source
    )


def _database_lines(detected: Detected) -> str:
    """The engine and version lines of [database], for the engine the app uses."""
    from hakobu.core.engines import engine

    facts = engine(detected.database_engine)
    aurora = f"aurora-{'mysql' if facts.family == 'mysql' else 'postgresql'}"
    if facts.name == "mysql":
        version = (
            "# MySQL 8.0 left RDS standard support on 2026-07-31: a new 8.0 instance bills "
            'Extended\n# Support. 8.4 is the current long-term release; choose "8.0" only if '
            "the app needs it.\n"
        )
    else:
        ends = facts.versions[facts.default_version].end_of_standard_support
        version = (
            f"# PostgreSQL {facts.default_version} is the newest major on RDS: in standard support "
            f"until {ends}.\n"
        )
    return (
        f"# {facts.label}, from {detected.engine_source}; {aurora!r}: an Aurora cluster.\n"
        f'engine = "{facts.name}"          # mysql | aurora-mysql | postgres | aurora-postgresql\n'
        f'{version}engine_version = "{facts.default_version}"\n'
        "# Aurora only: Serverless v2 capacity in ACUs (0.5 steps up to 256). min_capacity = 0\n"
        "# lets an idle cluster pause itself; the next connection waits ~15 s while it resumes.\n"
        "# min_capacity = 0\n"
        "# max_capacity = 2"
    )


def _rails_module(application_rb: Path) -> str | None:
    match = re.search(r"^module\s+([A-Z]\w*)", application_rb.read_text(encoding="utf-8"), re.M)
    return match.group(1) if match else None


def app_name_from(directory: Path) -> str:
    name = re.sub(r"[^a-z0-9-]+", "-", directory.name.lower()).strip("-")
    if not name or not name[0].isalpha():
        name = f"app-{name}".strip("-")
    return name[:21].rstrip("-") or "app"


def render_config(app: str, detected: Detected, profile: str | None = None) -> str:
    rails = detected.framework == "rails"
    secrets = (
        "# Rails: the master key is read from this file (or from $RAILS_MASTER_KEY when the\n"
        "# file is absent, as in CI) and written straight to Secrets Manager. It is never put\n"
        "# in Terraform files or state, unlike the guide's terraform.tfvars.\n"
        'master_key_file = "config/master.key"\n'
        'master_key_env = "RAILS_MASTER_KEY"\n'
        if rails
        else ""
    )
    release = DEFAULT_RELEASE_COMMANDS[detected.framework]
    database = _database_lines(detected)
    profile_line = f'profile = "{profile}"' if profile else '# profile = "lean"'
    db_name = (
        f'name = "{detected.database_name}"          # the database Rails connects to\n'
        if detected.database_name
        else ""
    )
    processes = _processes_lines(detected)
    return f'''# hakobu.toml: everything hakobu needs to run this app on AWS.
# Detected: {detected.framework} ({detected.reason}).
# Every key is optional except `app`; the values below are the defaults.

app = "{app}"               # names every resource: {app}-cluster, {app}-service, /ecs/{app}, ...
framework = "{detected.framework}"       # rails | django | container

# Tokyo, as in the guide. Any region where ECS Fargate runs.
region = "ap-northeast-1"

# Terraform state: "local" keeps it in .hakobu/ here (one person); "s3" keeps it in a
# versioned, encrypted bucket that hakobu creates, with S3 native locking (teams, CI).
state = "local"

# A profile sets several keys at once; any of them can still be set explicitly below.
#   "guide": the guide as written: one NAT Gateway, x86 tasks, db.t3.micro
#   "lean":  no NAT Gateway (tasks in public subnets with a public IP, reachable only
#            from the load balancer), Graviton tasks and DB: about $35 a month less
#   "ha":    two tasks over both zones, a NAT Gateway per zone, a Multi-AZ database
{profile_line}

[service]
# Fargate task size, as in the guide: 0.25 vCPU and 512 MiB. AWS accepts only certain
# pairs (with cpu = 256: memory 512, 1024 or 2048); hakobu checks before calling AWS.
cpu = 256
memory = 512
port = {detected.port}
# The ALB marks a task healthy after 2 checks 10 s apart on this path.
health_check_path = "{detected.health_check_path}"
# The keys commented out below are set by the profile; these are the values without one.
# desired_count = 1             # "ha": 2
# linux/amd64 as the guide builds on ARM Macs; linux/arm64 (Graviton) is ~20% cheaper.
# platform = "linux/amd64"      # "lean": linux/arm64
# public_ip = false             # "lean": true (tasks in the public subnets, no NAT needed)
# Fargate Spot is up to ~70% cheaper, but AWS may stop a task with two minutes' notice:
# keep spot_base tasks on regular Fargate so the app never runs on Spot alone.
# spot = false
# spot_base = 0

[database]
{database}
# Graviton db.t4g.micro costs less than the guide's db.t3.micro for the same 2 vCPU /
# 1 GiB; "db.t3.micro" is still accepted.
# instance_class = "db.t4g.micro"   # "guide": db.t3.micro
# multi_az = false                  # "ha": true (a standby in the other zone; twice the cost)
allocated_storage = 20          # GB of gp3, encrypted
backup_retention_days = 7       # daily automated backups, as in the guide
username = "{detected.database_user}"
{db_name}final_snapshot = true           # `hakobu destroy` keeps a last snapshot of the data

[network]
# The guide's layout: public subnets for the ALB and NAT Gateway, private ones for tasks
# and the database, in zones a and c.
vpc_cidr = "10.0.0.0/16"
public_subnets = ["10.0.1.0/24", "10.0.2.0/24"]
private_subnets = ["10.0.10.0/24", "10.0.11.0/24"]
availability_zones = ["a", "c"]
# nat_gateways = 1              # "lean": 0, "ha": 2 (one per zone)

[registry]
keep_images = 30                # ECR expires older images; enough to roll back weeks
# url = "127.0.0.1:5000/{app}"  # push here instead of ECR (e.g. a local registry for --sandbox)

[deploy]
# Runs as a one-off task of the new revision BEFORE the service moves: if it fails, the
# old version keeps serving. "" for none.
release_command = "{release}"
# builder = "docker"            # docker | podman | buildah (default: the first found)
dockerfile = "Dockerfile"
context = "."
timeout_seconds = 900           # how long `hakobu deploy` follows a rollout
tag_latest = true               # also tag `latest` for humans; the service runs a digest

[logs]
retention_days = 30             # CloudWatch Logs retention (kept forever costs forever)

[secrets]
{secrets}# The variable the app reads the DB password from (injected from Secrets Manager).
database_password_env = "{detected.database_password_env}"

{processes}
# Production edge (each section is optional; nothing of it exists until it is set).
# [domain]                      # HTTPS with an ACM certificate; port 80 answers 301
# name = "app.example.com"
# zone = "example.com"          # an existing Route 53 zone (read, never created or deleted)
# dns = "external"              # instead of zone: `hakobu domain status` prints the records
# cdn = false                   # CloudFront in front; the ALB then admits only CloudFront
# waf = false                   # AWS WAF managed rules and a per-IP rate limit
# Rails: the ALB terminates TLS. hakobu sets RAILS_ASSUME_SSL=1 with [domain]; in
# config/environments/production.rb write
#   config.assume_ssl = ENV["RAILS_ASSUME_SSL"] == "1"
#   config.force_ssl = ENV["RAILS_ASSUME_SSL"] == "1"
#   config.ssl_options = {{ redirect: {{ exclude: ->(request) {{
#     request.path == "{detected.health_check_path}" }} }} }}  # the ALB checks over HTTP
# Django: hakobu sets DJANGO_HTTPS=1 and DJANGO_CSRF_TRUSTED_ORIGINS (see the example app).
#
# [autoscaling]                 # target tracking; Terraform then leaves the count alone
# min = 1
# max = 4
# cpu_target = 60               # % average CPU
# requests_per_target = 500     # ALB requests per task per minute
#
# [alarms]                      # CloudWatch alarms, a dashboard, rollback on 5xx
# email = ["ops@example.com"]   # each address confirms a mail from AWS first

# Environments: the settings above apply to all; a section overrides keys for one.
# "production" uses the names above; another environment prefixes them with its name
# ({app}-staging-cluster, ...), so both can live in one account.
[environments.production]

# [environments.staging]
# service.desired_count = 1
# database.instance_class = "db.t4g.micro"
'''


def _processes_lines(detected: Detected) -> str:
    """Workers from the Procfile, and the schedule and storage sections, commented."""
    found = processes_toml(detected.procfile) + "\n" if detected.procfile else ""
    return found + (
        "# [processes.worker]            # a service beside web: same image, env and secrets\n"
        '# command = ["bin/jobs"]        # or ["bundle", "exec", "sidekiq"], ["celery", ...]\n'
        "#\n"
        "# [[schedules]]                 # a one-off task of the deployed release, on time\n"
        '# name = "nightly-cleanup"\n'
        '# cron = "0 3 * * *"            # or rate = "1 hour"\n'
        '# timezone = "Asia/Tokyo"\n'
        '# command = ["bin/rails", "runner", "Cleanup.run"]\n'
        "#\n"
        "# [storage]\n"
        "# bucket = true                 # private S3 bucket: STORAGE_BUCKET, STORAGE_REGION\n"
    )


def write_config(
    root: Path, app: str | None = None, force: bool = False, profile: str | None = None
) -> tuple[Path, Detected]:
    path = root / CONFIG_FILE
    if path.exists() and not force:
        raise HakobuError(f"{path} already exists", "edit it, or pass --force to overwrite it")
    name = app or app_name_from(root.resolve())
    if not APP_NAME_PATTERN.match(name):
        raise HakobuError(
            f"{name!r} cannot name AWS resources",
            "pass --app with 2-21 lowercase letters, digits and hyphens",
        )
    from hakobu.provision.storage_hint import storage_source

    detected = detect(root)
    detected = replace(
        detected,
        procfile=read_procfile(root),
        storage_source=storage_source(root, detected.framework),
    )
    path.write_text(render_config(name, detected, profile), encoding="utf-8")
    _ignore_work_dir(root)
    return path, detected


def _ignore_work_dir(root: Path) -> None:
    """Keep .hakobu/ (plans, local state, the sandbox's databases and Terraform providers,
    hundreds of MB) out of git and out of every image build's context."""
    _add_line(root / ".gitignore", ".hakobu/")
    if (root / "Dockerfile").exists() or (root / ".dockerignore").exists():
        _add_line(root / ".dockerignore", "/.hakobu/")


def _add_line(path: Path, line: str) -> None:
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    if line not in existing.split() and line.strip("/") not in (
        entry.strip("/") for entry in existing.split()
    ):
        separator = "" if not existing or existing.endswith("\n") else "\n"
        path.write_text(f"{existing}{separator}{line}\n", encoding="utf-8")
