"""SNS: the alarm topic's subscriptions and whether each was confirmed."""

from __future__ import annotations

from typing import Any

# SNS lists an e-mail subscription nobody has confirmed yet with this in place of its ARN.
PENDING = "PendingConfirmation"


def topic_arn(sns: Any, name: str) -> str | None:
    for page in sns.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                return str(topic["TopicArn"])
    return None


def subscriptions(sns: Any, topic: str) -> list[dict[str, Any]]:
    paginator = sns.get_paginator("list_subscriptions_by_topic")
    return [s for page in paginator.paginate(TopicArn=topic) for s in page.get("Subscriptions", [])]


def is_pending(subscription: dict[str, Any]) -> bool:
    return subscription.get("SubscriptionArn") == PENDING
