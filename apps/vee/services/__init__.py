"""VEE writes: validation runs, estimates, the exception queue's actions, rules.

Every function here is keyword-only, runs in a transaction and writes an audit row."""
