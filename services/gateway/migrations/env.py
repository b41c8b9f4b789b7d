from jsp_common.migrations import run_env

from gateway.adapters.tables import metadata

run_env(metadata)
