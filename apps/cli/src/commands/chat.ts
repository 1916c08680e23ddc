import { createInterface } from 'node:readline/promises';
import { Command } from 'commander';
import { ConversationTurn } from '@ivl/prompt';
import { EngineInput } from '@ivl/engine';
import { addMediaFlags, mediaInput } from '../media-flags';
import { addModelFlags, openEngine } from '../model-flags';
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
      const engine = await openEngine(o);
      const media = mediaInput(o);
      const params = samplingFrom(o);
      const ask = async (input: EngineInput) => {
        const r = await engine.chat(input, params, (delta) => process.stdout.write(delta));
        process.stdout.write('\n');
        return r;
      };
      if (o.prompt !== undefined) {
        await ask({ system: o.system, question: o.prompt, ...media });
        return;
      }
      const rl = createInterface({ input: process.stdin, output: process.stdout });
      const history: ConversationTurn[] = [];
      console.error('interactive chat: /reset clears the history, /exit (or Ctrl-D) quits');
      for (;;) {
        let q: string;
        try {
          q = await rl.question('> ');
        } catch {
          break;
        }
        if (q.trim() === '/exit') break;
        if (q.trim() === '/reset') {
          history.length = 0;
          continue;
        }
        if (!q.trim()) continue;
        try {
          // Earlier questions keep their <image>, so the images are sent again every turn (as the card requires).
          const r = await ask({ system: o.system, history: [...history], question: q, ...media });
          history.push({ question: history.length === 0 && media.images?.length === 1 && !q.includes('<image>') ? `<image>\n${q}` : q, answer: r.text });
        } catch (e) {
          console.error(`ivl: ${(e as Error).message}`);
        }
      }
      rl.close();
    });
}
