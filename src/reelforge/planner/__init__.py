"""The capacity and pricing planner: a demand (arrivals of generation requests) replayed on
a modelled fleet under the platform's scheduling rules, by discrete-event simulation, to
answer how many devices, what wait each plan gets, what each clip costs and what margin
each plan earns. A driver above the services, like the simulator: it reads the billing
sheet and, through services, the platform's own job records; it writes nothing."""
