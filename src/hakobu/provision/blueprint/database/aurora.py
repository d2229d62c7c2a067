"""An Aurora cluster (MySQL or PostgreSQL) as the guide's diagram draws it.

A writer instance in the first private subnet's zone, and with `multi_az` (the "ha"
profile) a reader in the other zone that Aurora promotes if the writer fails. Instances
are numbered, not named writer/reader, because a failover swaps the roles. Serverless v2
(`db.serverless`) by default: capacity follows load between min and max ACUs, and with
min 0 an idle cluster pauses itself (~15 s to resume on the next connection).
"""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.core.engines import SERVERLESS_CLASS, engine
from hakobu.core.names import Names
from hakobu.provision.blueprint.database.common import kept_safe, outputs, subnet_group
from hakobu.provision.blueprint.document import Fragment, ref
from hakobu.provision.blueprint.network import subnet_address
from hakobu.provision.blueprint.secrets import DB_PASSWORD_VALUE, DB_PASSWORD_VERSION
from hakobu.provision.blueprint.security import DB_SG

CLUSTER = "aws_rds_cluster.main"
# AWS's shortest idle time before a pause (and its default): five minutes.
SECONDS_UNTIL_AUTO_PAUSE = 300


def aurora_cluster(env: Environment) -> Fragment:
    names = Names.of(env)
    settings = env.settings.database
    part = Fragment("database")
    subnets = subnet_group(part, env)
    part.resource("aws_rds_cluster", "main", _cluster(env, subnets))
    zones = env.settings.network.availability_zones
    count = 2 if settings.multi_az else 1
    for number, zone in enumerate(zones[:count], start=1):
        part.resource(
            "aws_rds_cluster_instance",
            f"db_{number}",
            {
                "identifier": names.db_cluster_instance(number),
                "cluster_identifier": ref(CLUSTER, "id"),
                # The version is the cluster's: instances follow its upgrades.
                "engine": ref(CLUSTER, "engine"),
                "instance_class": settings.instance_class,
                "db_subnet_group_name": subnets,
                "availability_zone": ref(subnet_address("private", zone), "availability_zone"),
                "publicly_accessible": False,
                "auto_minor_version_upgrade": True,
                # Tiers 0 and 1 pause and resume with the writer, and are failover targets.
                "promotion_tier": number - 1,
                "copy_tags_to_snapshot": True,
                "tags": {"Name": names.db_cluster_instance(number)},
            },
        )
    outputs(part, env, writer=ref(CLUSTER, "endpoint"), reader=ref(CLUSTER, "reader_endpoint"))
    return part


def _cluster(env: Environment, subnets: str) -> dict[str, object]:
    names = Names.of(env)
    settings = env.settings.database
    facts = engine(settings.engine)
    body: dict[str, object] = {
        "cluster_identifier": names.db_cluster,
        "engine": settings.engine,
        # A major ("8.0", "17") lets Aurora pick its default minor and upgrade minors.
        "engine_version": settings.engine_version,
        "database_name": env.database_name,
        "master_username": settings.username,
        # Write-only, as on RDS: the guide's secret holds the password; plan and state never.
        "master_password_wo": ref(DB_PASSWORD_VALUE, "secret_string"),
        "master_password_wo_version": DB_PASSWORD_VERSION,
        "db_subnet_group_name": subnets,
        "vpc_security_group_ids": [ref(DB_SG)],
        "port": facts.port,
        "storage_encrypted": True,
        **kept_safe(env, names.db_cluster),
        # Serverless v1's block: unused here, and read back empty by the provider, which
        # would otherwise plan to "change" it on every run.
        "lifecycle": {"ignore_changes": ["scaling_configuration"]},
    }
    if settings.final_snapshot:
        body["final_snapshot_identifier"] = f"{names.db_cluster}-final"
    if settings.instance_class == SERVERLESS_CLASS:
        body["serverlessv2_scaling_configuration"] = _capacity(env)
    return body


def _capacity(env: Environment) -> dict[str, object]:
    settings = env.settings.database
    capacity: dict[str, object] = {
        "min_capacity": settings.min_capacity,
        "max_capacity": settings.max_capacity,
    }
    if settings.min_capacity == 0:
        capacity["seconds_until_auto_pause"] = SECONDS_UNTIL_AUTO_PAUSE
    return capacity
