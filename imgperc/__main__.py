from imgperc.cli.main import main

main()
