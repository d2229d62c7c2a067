"""Operations that call AWS APIs directly with boto3 (never to create infrastructure)."""
