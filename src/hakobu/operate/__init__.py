"""Day 2: status, logs, sessions, scaling, secrets, pause/resume and doctor."""
