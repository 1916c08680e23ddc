import { Command } from 'commander';
import { chatCommand } from './commands/chat';
import { convertCommand } from './commands/convert';
import { forwardCommand } from './commands/forward';
import { generateCommand } from './commands/generate';
import { upCommand } from './commands/up';
import { makeModelCommand } from './commands/make-model';
import { gatewayCommand } from '@ivl/gateway';
import { workerCommand } from '@ivl/worker-node';
import { reportAndExit } from './errors';

const program = new Command('ivl')
  .description('ivl-cluster: serve InternVL2.5 on a pipeline of ONNX stage workers')
  .showHelpAfterError()
  .addCommand(makeModelCommand())
  .addCommand(convertCommand())
  .addCommand(forwardCommand())
  .addCommand(chatCommand())
  .addCommand(workerCommand())
  .addCommand(generateCommand())
  .addCommand(upCommand())
  .addCommand(gatewayCommand());

program.parseAsync(process.argv).catch(reportAndExit);
