# sourced by the bash sandbox of slurm_tasks.SandboxedChars on the Slurm node
export PK_SANDBOX_VALUE="set by slurm_sandbox_env.sh"
