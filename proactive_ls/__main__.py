from proactive_ls.launch import main

main()
