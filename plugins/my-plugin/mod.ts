// The seed's MyPlugin, as a class extending BackendPluginBase. Its public methods are callable.
import { BackendPluginBase } from "@dotcompute/plugins/plugin";

export default class MyPlugin extends BackendPluginBase {
  protected override onInitialize(): void {
    this.logger.info("Initializing My Plugin");
  }

  protected override onStart(): void {
    this.logger.info("My Plugin started with CustomOption={option}", { option: this.settings.CustomOption });
  }

  protected override onStop(): void {
    this.logger.info("My Plugin stopping");
  }

  /** Multiplies every element in place; the array travels both ways without a copy. */
  scale(values: Float32Array, factor: number): Float32Array {
    for (let i = 0; i < values.length; i++) values[i] *= factor;
    this.metrics.counter("elements_scaled").add(values.length);
    return values;
  }

  /** Sum of squares: a reduction over a typed array. */
  sumOfSquares(values: Float64Array): number {
    let s = 0;
    for (const v of values) s += v * v;
    return s;
  }
}
