"""The whole-platform fault suite: traffic with unique ids, a fault schedule, the set comparison."""
