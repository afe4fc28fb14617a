"""Errors a person can act on: the CLI prints their message on one line, the API as a 4xx."""


class BeaconError(Exception):
    """A failure with a message written for the person running Beacon."""

    exit_code = 1


class NotFound(BeaconError):
    exit_code = 3


class InvalidInput(BeaconError):
    exit_code = 2


class DatabaseUnavailable(BeaconError):
    exit_code = 4


class Busy(BeaconError):
    """Another Beacon process holds a lock this one needs."""

    exit_code = 5


class Conflict(BeaconError):
    """Someone else got there first (another decision on the same draft); the message says what
    happened, so the person can look again."""

    exit_code = 6
