from jsp_common.migrations import run_env

from risk.adapters.tables import metadata

run_env(metadata)
