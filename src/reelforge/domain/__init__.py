"""Pure domain model: job specs, the job state machine, events. No I/O, no frameworks."""
