"""Getting a release onto the stack: image build and push, task-definition revisions, the
release task, the rollout and the deploy history."""
