"""statemachine: Amazon States Language workflows, durable on Redis (see README.md)."""
