"""The testing kit: hypothesis strategies (`wire.testing.strategies`) for fuzzing
SSE and Messages stream consumers. Importing this package loads no test
dependency; `strategies` needs `hypothesis`.
"""
