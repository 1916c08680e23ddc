import { gatewayCommand } from '@ivl/gateway';

// The gateway image's entry point: `node dist/gateway.js --model DIR --redis URL --port N --grpc-port N`.
gatewayCommand()
  .name('ivl-gateway')
  .parseAsync(process.argv)
  .catch((e: Error) => {
    console.error(`ivl-gateway: ${e.message}`);
    process.exit(1);
  });
