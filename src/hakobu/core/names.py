"""AWS names of an environment's resources, shared by the blueprint and the operations.

With app `rails-app` in `production` these are exactly the guide's names (docs/design.md,
"Names"), so every `aws ...` command in the guide works against a hakobu deployment.
"""

from __future__ import annotations

from dataclasses import dataclass

from hakobu.core.config import Environment

# GitHub Actions' OIDC issuer; IAM names an account's provider for it by this host
# (`oidc-provider/<host>`). blueprint.ci creates or reads it; the IAM policies name it.
GITHUB_OIDC_HOST = "token.actions.githubusercontent.com"


@dataclass(frozen=True)
class Names:
    prefix: str
    container: str

    @classmethod
    def of(cls, env: Environment) -> Names:
        return cls(prefix=env.prefix, container=env.app)

    @property
    def cluster(self) -> str:
        return f"{self.prefix}-cluster"

    @property
    def service(self) -> str:
        return f"{self.prefix}-service"

    @property
    def task_family(self) -> str:
        return self.prefix

    @property
    def target_group(self) -> str:
        return f"{self.prefix}-tg"

    @property
    def load_balancer(self) -> str:
        return f"{self.prefix}-alb"

    @property
    def log_group(self) -> str:
        return f"/ecs/{self.prefix}"

    @property
    def repository(self) -> str:
        return self.prefix

    @property
    def db_instance(self) -> str:
        return f"{self.prefix}-db"

    @property
    def db_cluster(self) -> str:
        """An Aurora cluster: the name the guide's RDS instance had."""
        return f"{self.prefix}-db"

    def db_cluster_instance(self, number: int) -> str:
        return f"{self.prefix}-db-{number}"

    @property
    def db_subnet_group(self) -> str:
        return f"{self.prefix}-db-subnet-group"

    @property
    def db_password_secret(self) -> str:
        return f"{self.prefix}-db-password"

    @property
    def master_key_secret(self) -> str:
        return f"{self.prefix}-rails-master-key"

    @property
    def django_secret_key_secret(self) -> str:
        return f"{self.prefix}-django-secret-key"

    @property
    def execution_role(self) -> str:
        return f"{self.prefix}-ecs-task-execution-role"

    @property
    def task_role(self) -> str:
        return f"{self.prefix}-ecs-task-role"

    @property
    def github_deploy_role(self) -> str:
        return f"{self.prefix}-github-deploy"

    def security_group(self, tier: str) -> str:
        return f"{self.prefix}-{tier}-sg"

    def process(self, name: str) -> str:
        """A process's ECS service and task-definition family (`web` is `service`)."""
        return self.service if name == "web" else f"{self.prefix}-{name}"

    def schedule(self, name: str) -> str:
        return f"{self.prefix}-{name}"

    @property
    def schedule_family(self) -> str:
        """The task family schedules run: its newest revision is always the deployed release."""
        return f"{self.prefix}-schedules"

    @property
    def scheduler_role(self) -> str:
        return f"{self.prefix}-scheduler-role"

    @property
    def schedules_dlq(self) -> str:
        return f"{self.prefix}-schedules-dlq"
