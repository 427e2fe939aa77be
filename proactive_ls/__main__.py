from proactive_ls.cli import main

main()
