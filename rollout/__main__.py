from rollout.cli.main import main

main()
