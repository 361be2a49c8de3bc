from salesctl.cli import main

main()
