using ParameterServer.Fast.Cli;

return CliMain.Run(args, Console.Out, Console.Error);
