from jsp_common.migrations import run_env

from clues.adapters.tables import metadata

run_env(metadata)
