import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { ConversationTurn } from '@ivl/prompt';
import { RequestInput } from '@ivl/requests';
import { addMediaFlags, mediaInput } from '../media-flags';
import { addModelFlags, openGenerator } from '../model-flags';
import { addSamplingFlags, samplingFrom } from '../sampling-flags';

export function chatCommand(): Command {
  const cmd = new Command('chat').description('answer a question (streamed), or chat interactively with history when --prompt is absent');
  addModelFlags(cmd);
  addMediaFlags(cmd);
  // The model card samples (do_sample=True, so Hugging Face's top_k=50); --temperature 0 gives greedy answers.
  addSamplingFlags(cmd, { maxNewTokens: 1024, temperature: 1, topK: 50 });
  return cmd
    .option('--prompt <text>', 'one question; omit for an interactive session')
    .option('--system <text>', 'system message (default: the InternVL2.5 one)')
    .action(async (o) => {
      const generator = await openGenerator(o);
      const media = mediaInput(o);
      const params = samplingFrom(o);
      const ask = async (input: RequestInput) => {
        const r = await generator.chat(input, params, (delta) => process.stdout.write(delta));
        process.stdout.write('\n');
        return r;
      };
      if (o.prompt !== undefined) {
        await ask({ system: o.system, question: o.prompt, ...media });
        return;
      }
      // Lines are read as a stream, so questions piped in while an answer is being generated are not lost.
      const rl = createInterface({ input: process.stdin, terminal: false });
      const history: ConversationTurn[] = [];
      console.error('interactive chat: /reset clears the history, /exit (or Ctrl-D) quits');
      process.stdout.write('> ');
      for await (const line of rl) {
        const q = line.trim();
        if (q === '/exit') break;
        if (q === '/reset') history.length = 0;
        else if (q) {
          try {
            // Earlier questions keep their <image>, so the images are sent again every turn (as the card requires).
            const r = await ask({ system: o.system, history: [...history], question: line, ...media });
            history.push({ question: history.length === 0 && media.images?.length === 1 && !line.includes('<image>') ? `<image>\n${line}` : line, answer: r.text });
          } catch (e) {
            console.error(`ivl: ${(e as Error).message}`);
          }
        }
        process.stdout.write('> ');
      }
      rl.close();
    });
}
