import { Command } from 'commander';
import { convertCommand } from './commands/convert';
import { makeModelCommand } from './commands/make-model';
import { reportAndExit } from './errors';

const program = new Command('ivl')
  .description('ivl-cluster: serve InternVL2.5 on a pipeline of ONNX stage workers')
  .showHelpAfterError()
  .addCommand(makeModelCommand())
  .addCommand(convertCommand());

program.parseAsync(process.argv).catch(reportAndExit);
