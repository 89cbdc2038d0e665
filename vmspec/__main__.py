from vmspec.cli import main

main()
