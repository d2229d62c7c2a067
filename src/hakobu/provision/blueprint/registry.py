"""The ECR repository the app's images are pushed to, with old images expiring."""

from __future__ import annotations

import json

from hakobu.core.config import Environment
from hakobu.core.names import Names
from hakobu.provision.blueprint.document import Fragment, ref

REPOSITORY = "aws_ecr_repository.app"


def registry(env: Environment) -> Fragment:
    names = Names.of(env)
    part = Fragment("registry")
    part.resource(
        "aws_ecr_repository",
        "app",
        {
            "name": names.repository,
            # Deploys push immutable git-commit tags and the service runs an image digest;
            # only the convenience tag `latest` moves, so tags stay mutable for it.
            "image_tag_mutability": "MUTABLE",
            "image_scanning_configuration": {"scan_on_push": True},
            # KMS with the AWS-managed key: no key to pay for or manage.
            "encryption_configuration": {"encryption_type": "KMS"},
            # `hakobu destroy` removes the images with the repository (it warns first).
            "force_delete": True,
        },
    )
    policy = {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"Keep the newest {env.settings.registry.keep_images} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": env.settings.registry.keep_images,
                },
                "action": {"type": "expire"},
            }
        ],
    }
    part.resource(
        "aws_ecr_lifecycle_policy",
        "app",
        {
            "repository": ref(REPOSITORY, "name"),
            "policy": json.dumps(policy),
        },
    )
    part.output("ecr_repository_url", ref(REPOSITORY, "repository_url"), "Where images are pushed")
    part.output(
        "ecr_login_command",
        f"aws ecr get-login-password --region {env.region} | docker login --username AWS "
        f"--password-stdin {ref(REPOSITORY, 'repository_url')}",
        "Log Docker in to the repository (hakobu deploy does this itself)",
    )
    return part
