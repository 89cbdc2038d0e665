from vmspec.entry import main

main()
