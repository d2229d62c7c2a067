"""`hakobu doctor`'s registry check with botocore's Stubber: an image from another
registry is skipped, the service's image looked up in ECR by digest, the bootstrap image
before the first deploy is a warning."""

from __future__ import annotations

from hakobu.core.config import Environment
from hakobu.operate.doctor import exit_code
from tests.support.doctor_aws import (
    ACCOUNT,
    NOW,
    PRIVATE,
    REGION,
    TD,
    run_named,
    signed_in,
    stub_service_lookup,
)
from tests.support.stubbed_aws import StubbedAws


def test_an_image_from_another_registry_is_skipped(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    stub_service_lookup(aws, list(PRIVATE))
    image = "public.ecr.aws/docker/library/python:3.12-slim"
    aws.stub("ecs").add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": TD,
                "family": "rails-app",
                "containerDefinitions": [{"name": "rails-app", "image": image}],
            }
        },
        {"taskDefinition": TD},
    )

    result = run_named(env, aws, "service image")["service image"]

    assert (result.status, result.message) == (
        "skipped",
        f"the service runs {image}, not an ECR image",
    )


def _image_calls(aws: StubbedAws, image: str) -> None:
    stub_service_lookup(aws, list(PRIVATE))
    aws.stub("ecs").add_response(
        "describe_task_definition",
        {
            "taskDefinition": {
                "taskDefinitionArn": TD,
                "family": "rails-app",
                "containerDefinitions": [{"name": "rails-app", "image": image}],
            }
        },
        {"taskDefinition": TD},
    )


def test_the_image_the_service_runs_is_looked_up_by_digest(env: Environment) -> None:
    digest = "sha256:" + "b" * 64
    aws = StubbedAws()
    signed_in(aws)
    _image_calls(aws, f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app@{digest}")
    aws.stub("ecr").add_response(
        "describe_images",
        {
            "imageDetails": [
                {
                    "repositoryName": "rails-app",
                    "imageDigest": digest,
                    "imageTags": ["3f2a1b0c9d8e"],
                    "imagePushedAt": NOW,
                }
            ]
        },
        {
            "registryId": ACCOUNT,
            "repositoryName": "rails-app",
            "imageIds": [{"imageDigest": digest}],
        },
    )

    image = run_named(env, aws, "service image")["service image"]

    assert (image.status, image.message) == (
        "ok",
        "rails-app@sha256:bbbbbbbbbbbb… is in ECR (tags: 3f2a1b0c9d8e; pushed 2026-11-29 12:00 "
        "UTC)",
    )


def test_the_bootstrap_image_before_the_first_deploy_is_a_warning(env: Environment) -> None:
    aws = StubbedAws()
    signed_in(aws)
    _image_calls(aws, f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/rails-app:bootstrap")
    aws.stub("ecr").add_client_error(
        "describe_images",
        service_error_code="ImageNotFoundException",
        service_message="The image with imageId {imageDigest:'null', imageTag:'bootstrap'} "
        "does not exist",
        http_status_code=400,
        expected_params={
            "registryId": ACCOUNT,
            "repositoryName": "rails-app",
            "imageIds": [{"imageTag": "bootstrap"}],
        },
    )

    results = run_named(env, aws, "service image")

    image = results["service image"]
    assert (image.status, image.message) == (
        "warning",
        "no deploy yet: the service runs the placeholder rails-app:bootstrap, which nothing "
        "pushes, so no task can start",
    )
    assert exit_code(results.values()) == 0
