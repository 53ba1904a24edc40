"""REST API for partners (DRF): flows, runs, records and the inbox actions, one tenant per host name."""
