// The plain-object style of CONTRACT §2: every hook and method is optional.
interface Ctx {
  id: string;
  settings: { greeting?: string };
  log: { info(message: string, properties?: Record<string, unknown>): void };
}

let greeting = "hello";

export default {
  initialize(ctx: Ctx): void {
    greeting = ctx.settings.greeting ?? greeting;
    ctx.log.info("initializing {id}", { id: ctx.id });
  },
  start(ctx: Ctx): void {
    ctx.log.info("started");
  },
  stop(ctx: Ctx): void {
    ctx.log.info("stopped");
  },
  health(): { status: "healthy" } {
    return { status: "healthy" };
  },
  configure(settings: { greeting?: string }): void {
    greeting = settings.greeting ?? greeting;
  },
  methods: {
    greet(name: string): string {
      return `${greeting} ${name}`;
    },
    sum(values: number[]): number {
      return values.reduce((a, b) => a + b, 0);
    },
  },
};
