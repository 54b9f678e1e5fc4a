# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_k12ctl_global_optspecs
    string join \n config= database-url= storage= output= notify no-progress q/quiet v/verbose color= h/help V/version
end

function __fish_k12ctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_k12ctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_k12ctl_using_subcommand
    set -l cmd (__fish_k12ctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c k12ctl -n "__fish_k12ctl_needs_command" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_needs_command" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_needs_command" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_needs_command" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_needs_command" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_needs_command" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -f -a "backup" -d 'Back up, list and inspect backups'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -f -a "restore" -d 'Restore a backup into a database: confirmed, atomic, never into its source'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -f -a "provision" -d 'Onboard schools: tenant, school, roles, admin, academic year and AI policies in one transaction; the onboarding checklist'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -f -a "import" -d 'Import a roster from CSV (users, courses and sections, enrollments): every row checked first, then all or nothing'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -f -a "health" -d 'Check database, redis, sidekiq, storage, AI gateway and backups: healthy, warning or critical'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -f -a "config" -d 'Inspect the resolved configuration'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -f -a "completions" -d 'Print a shell completion script (or write all of them with --dir)'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -f -a "man" -d 'Print the man page k12ctl.1 (or write every page with --dir)'
complete -c k12ctl -n "__fish_k12ctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -f -a "run" -d 'Stream pg_dump -> gzip -> object storage; the manifest is written last'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -f -a "list" -d 'List backups from the catalog in the bucket, newest first'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -f -a "show" -d 'Show one backup\'s manifest'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -f -a "verify" -d 'Prove a backup restores: size and SHA-256, a restore into a scratch database, row counts'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -f -a "prune" -d 'Apply the retention policy; also abort unfinished uploads of killed runs'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -f -a "status" -d 'The platform\'s backup status summary (latest backup, latest verified, total, failed in 30 days), from the catalog in the bucket'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and not __fish_seen_subcommand_from run list show verify prune status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l type -d 'Backup type; only `full` is offered' -r -f -a "full\t'A complete logical dump (pg_dump custom format)'
incremental\t'Not offered: needs WAL archiving (use pgBackRest or WAL-G for point-in-time recovery)'"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l compression -d 'gzip (the default; `gunzip -c x.dump.gz | pg_restore` restores it) or zstd[:LEVEL] (levels 1-19, default 1; `zstd -dc x.dump.zst | pg_restore`). Replaces backup.compression / K12CTL_COMPRESSION' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l compression-level -d 'gzip level 1-9 [default: 2, chosen by measurement, see docs/BENCHMARKS.md]' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l encrypt-to -d 'Encrypt the backup with age to this X25519 recipient (age1...); repeatable. Replaces backup.encrypt_to / K12CTL_ENCRYPT_TO' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l prometheus-file -d 'Write this run\'s gauges (status, duration, last success, sizes) to this file for node_exporter\'s textfile collector, replacing it atomically' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from run" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l limit -d 'Show at most this many backups' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l status -d 'Only backups with this status (repeatable)' -r -f -a "completed\t''
failed\t''
verified\t''
verification-failed\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l identity -d 'age identity file (AGE-SECRET-KEY-1...) to decrypt an encrypted backup [env: K12CTL_IDENTITY_FILE, config: backup.identity_file]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l prometheus-file -d 'Write this run\'s gauges (status, duration, last success, sizes) to this file for node_exporter\'s textfile collector, replacing it atomically' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l scratch-url -d 'Server to create the scratch database on [default: the server of DATABASE_URL]' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l latest -d 'Verify the newest completed or verified backup'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l quick -d 'Only check the stored object\'s size and SHA-256 (no restore)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from verify" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-last -d 'Keep the N newest completed or verified backups' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-daily -d 'Keep the newest backup of each of the N most recent days (UTC)' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-weekly -d 'Keep the newest backup of each of the N most recent ISO weeks' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-monthly -d 'Keep the newest backup of each of the N most recent months' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-within -d 'Keep every backup younger than this (e.g. 7d, 36h)' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l keep-failed-days -d 'Remove failed and verification-failed runs older than this many days [default: 30]' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l abort-uploads-older-than -d 'Abort unfinished multipart uploads (debris of killed runs) older than this' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l prometheus-file -d 'Write this run\'s gauges (status, duration, last success, sizes) to this file for node_exporter\'s textfile collector, replacing it atomically' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l dry-run -d 'Show what would be removed; remove nothing'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "run" -d 'Stream pg_dump -> gzip -> object storage; the manifest is written last'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "list" -d 'List backups from the catalog in the bucket, newest first'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one backup\'s manifest'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Prove a backup restores: size and SHA-256, a restore into a scratch database, row counts'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Apply the retention policy; also abort unfinished uploads of killed runs'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "status" -d 'The platform\'s backup status summary (latest backup, latest verified, total, failed in 30 days), from the catalog in the bucket'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand backup; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l target -d 'Database to restore into, on the server of DATABASE_URL' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l backup -d 'Backup id to restore' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l key -d 'A backup without a manifest, as the platform\'s old jobs made them (custom format, gzipped or not, or gzipped plain SQL): a key relative to the storage prefix, or a full s3://bucket/key (any bucket, same S3 settings) or file:///path URL' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l jobs -d 'Restore with N parallel jobs through a temporary file (needs a new database: --create)' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l temp-dir -d 'Directory for the temporary file of --jobs [default: $TMPDIR]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l identity -d 'age identity file (AGE-SECRET-KEY-1...) to decrypt an encrypted backup [env: K12CTL_IDENTITY_FILE, config: backup.identity_file]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l tenant -d 'Restore one school\'s rows only: the tenant with this subdomain, with --merge (into a live database) or --create (extract into a new one)' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l latest -d 'Restore the newest completed or verified backup'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l create -d 'Create the target database when it does not exist (with --tenant: extract the tenant into a new database holding the whole schema and only its rows)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l clean -d 'Replace the contents of a target that holds tables (in one transaction)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -s y -l yes -d 'Do not ask for confirmation (required off a terminal)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l allow-unverified -d 'Also allow backups whose verification failed'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l force-source -d 'Allow restoring into the very database the backup was taken from'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l merge -d 'With --tenant: re-insert the tenant\'s rows that are in the backup and missing now, with their ids, in one transaction; rows that exist are never touched'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l overwrite-changed -d 'With --merge: also replace the tenant\'s rows that differ from the backup (listed in the confirmation first)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l dry-run -d 'With --tenant: show the plan per table (rows to re-insert, differing, new since the backup) and any conflict; write nothing'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand restore" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -f -a "school" -d 'Create a school\'s tenant, school, five roles with permissions, admin, current academic year and AI task policies; one transaction per school, idempotent'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -f -a "status" -d 'Show a tenant\'s onboarding checklist (OnboardingChecklistService\'s ten items)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and not __fish_seen_subcommand_from school status help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l file -d 'Provision every school listed in this YAML file (validated whole first)' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l name -d 'School name (also the tenant\'s name)' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l subdomain -d 'The tenant\'s subdomain (slug): lowercase letters, digits, hyphens; 3-63 characters' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l admin-email -d 'The school administrator\'s email (the admin user\'s login)' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l admin-first-name -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l admin-last-name -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l district -d 'The school\'s district, by its slug (`districts.slug`); it must exist unless --create-district names it' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l create-district -d 'Create the --district with this name when no district has the slug' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l timezone -d 'IANA time zone of the school [default: America/New_York]' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l academic-year-start -d 'First day of the current academic year, YYYY-MM-DD [default: the last 1 August]' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l dry-run -d 'Print the plan and write nothing'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from school" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from status" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from help" -f -a "school" -d 'Create a school\'s tenant, school, five roles with permissions, admin, current academic year and AI task policies; one transaction per school, idempotent'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from help" -f -a "status" -d 'Show a tenant\'s onboarding checklist (OnboardingChecklistService\'s ten items)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand provision; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -f -a "csv" -d 'Import users, courses and sections, or enrollments from a CSV file into a tenant'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and not __fish_seen_subcommand_from csv help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l tenant -d 'The tenant\'s subdomain' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l kind -d 'What the file holds' -r -f -a "users\t'email,first_name,last_name,role'
courses\t'course_code,course_name,section_code,section_name[,academic_year]'
enrollments\t'email,section_code,role'"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l dry-run -d 'Check every row and report what would be inserted, updated or unchanged; write nothing'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from csv" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "csv" -d 'Import users, courses and sections, or enrollments from a CSV file into a tenant'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand import; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l check -d 'Run only this check (repeatable) [default: all]' -r -f -a "database\t'Connect, SELECT 1 latency, connections in use vs max_connections'
redis\t'PING latency and memory use (REDIS_URL)'
sidekiq\t'Queue depth, oldest job\'s latency, retry and dead sets (REDIS_URL)'
storage\t'The backup bucket/prefix is reachable and readable'
ai_gateway\t'GET $AI_GATEWAY_URL/v1/health'
backups\t'Age of the newest backup and newest verified backup, failed runs in 30 days'"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l prometheus-file -d 'Also write the gauges to PATH in the Prometheus text format, replaced atomically (for node_exporter\'s textfile collector: name it *.prom)' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l watch -d 'Run again every SECONDS until interrupted: redraw on a terminal, one line per run otherwise (one JSON document per line with --output json)' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand health" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "show" -d 'Print the resolved settings and where each came from; secrets are redacted'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and not __fish_seen_subcommand_from show help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "show" -d 'Print the resolved settings and where each came from; secrets are redacted'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand config; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -l dir -d 'Write bash, zsh and fish completions into this directory' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -l dir -d 'Write k12ctl.1 and one page per subcommand into this directory' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -l config -d 'YAML configuration file [default: ./k12ctl.yaml, then $XDG_CONFIG_HOME/k12ctl/config.yaml]' -r -F
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -l database-url -d 'PostgreSQL connection URL; prefer the environment variable, which stays out of the process list' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -l storage -d 'Backup storage: s3://bucket/prefix or file:///directory' -r
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -l output -d 'Output format of results on stdout' -r -f -a "human\t''
json\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -l color -d 'When to use colors on stderr' -r -f -a "auto\t''
always\t''
never\t''"
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -l notify -d 'Post failures to the Slack webhook (SLACK_ALERT_WEBHOOK_URL)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -l no-progress -d 'Never draw progress bars (a log line every 10 s is written instead)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -s q -l quiet -d 'Only print errors and results'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -s v -l verbose -d 'More detail in logs (-vv for debug output of the libraries)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -s h -l help -d 'Print help'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand man" -s V -l version -d 'Print version'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and not __fish_seen_subcommand_from backup restore provision import health config completions man help" -f -a "backup" -d 'Back up, list and inspect backups'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and not __fish_seen_subcommand_from backup restore provision import health config completions man help" -f -a "restore" -d 'Restore a backup into a database: confirmed, atomic, never into its source'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and not __fish_seen_subcommand_from backup restore provision import health config completions man help" -f -a "provision" -d 'Onboard schools: tenant, school, roles, admin, academic year and AI policies in one transaction; the onboarding checklist'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and not __fish_seen_subcommand_from backup restore provision import health config completions man help" -f -a "import" -d 'Import a roster from CSV (users, courses and sections, enrollments): every row checked first, then all or nothing'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and not __fish_seen_subcommand_from backup restore provision import health config completions man help" -f -a "health" -d 'Check database, redis, sidekiq, storage, AI gateway and backups: healthy, warning or critical'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and not __fish_seen_subcommand_from backup restore provision import health config completions man help" -f -a "config" -d 'Inspect the resolved configuration'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and not __fish_seen_subcommand_from backup restore provision import health config completions man help" -f -a "completions" -d 'Print a shell completion script (or write all of them with --dir)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and not __fish_seen_subcommand_from backup restore provision import health config completions man help" -f -a "man" -d 'Print the man page k12ctl.1 (or write every page with --dir)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and not __fish_seen_subcommand_from backup restore provision import health config completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "run" -d 'Stream pg_dump -> gzip -> object storage; the manifest is written last'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "list" -d 'List backups from the catalog in the bucket, newest first'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "show" -d 'Show one backup\'s manifest'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "verify" -d 'Prove a backup restores: size and SHA-256, a restore into a scratch database, row counts'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "prune" -d 'Apply the retention policy; also abort unfinished uploads of killed runs'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from backup" -f -a "status" -d 'The platform\'s backup status summary (latest backup, latest verified, total, failed in 30 days), from the catalog in the bucket'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from provision" -f -a "school" -d 'Create a school\'s tenant, school, five roles with permissions, admin, current academic year and AI task policies; one transaction per school, idempotent'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from provision" -f -a "status" -d 'Show a tenant\'s onboarding checklist (OnboardingChecklistService\'s ten items)'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from import" -f -a "csv" -d 'Import users, courses and sections, or enrollments from a CSV file into a tenant'
complete -c k12ctl -n "__fish_k12ctl_using_subcommand help; and __fish_seen_subcommand_from config" -f -a "show" -d 'Print the resolved settings and where each came from; secrets are redacted'
