"""Test and demo helpers of the Joint Supervision Platform; never imported by a service's runtime."""
