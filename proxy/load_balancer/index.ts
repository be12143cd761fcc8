import type { LbPolicy } from "../config/model.js";
import { LeastRequestLoadBalancer } from "./least_request.js";
import { RandomLoadBalancer } from "./random.js";
import { RoundRobinLoadBalancer } from "./round_robin.js";
import type { LoadBalancer, RandomSource } from "./types.js";

export type { LoadBalancer, RandomSource } from "./types.js";

export interface LoadBalancerOptions {
  random?: RandomSource;
  /** `least_request_lb_config.choice_count`, default 2. */
  choiceCount?: number;
}

/** The balancer for a cluster's `lb_policy`. */
export function createLoadBalancer(policy: LbPolicy, opts: LoadBalancerOptions = {}): LoadBalancer {
  const random = opts.random ?? Math.random;
  switch (policy) {
    case "round_robin":
      return new RoundRobinLoadBalancer(random);
    case "least_request":
      return new LeastRequestLoadBalancer(random, opts.choiceCount ?? 2);
    case "random":
      return new RandomLoadBalancer(random);
  }
}
