"""Activation services: the space's state machine, enrolment with a code, the campaign, the registry."""
