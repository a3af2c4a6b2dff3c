FuzzCommand.main()
