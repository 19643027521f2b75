"""The int8 runtime: prepare, arena planner, C engine and the Interpreter."""
