#!/usr/bin/env python3
"""A rollout worker that drives `ssr serve` stepwise: the worker is the policy.

It samples every assistant turn itself from an OpenAI-compatible endpoint (the trainer's
vLLM/SGLang server), hands each turn to ssr, which runs the tool call in its sandbox and
answers with the observation, until the episode is done and ssr returns the reward. Token ids
and logprobs the endpoint returns go to ssr with the turn, so the trajectory ssr keeps is the
one the trainer sampled. Standard library only.

    ssr serve --repo-root examples/repos --artifact-root examples/artifacts &
    python3 examples/trainers/serve_stepwise.py --env http://127.0.0.1:8765 \
        --model-url http://127.0.0.1:8000/v1 --model Qwen/Qwen3-8B \
        --repo textkit --artifact textkit-wrap-width --episodes 4 --policy-version step-12

Prints one JSON line per episode: episode id, reward (+1 solved, -1 not), turns, end reason.
"""
import argparse
import json
import sys
import urllib.error
import urllib.request


def post(url, body, timeout=3600):
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as e:
        detail = e.read().decode(errors="replace")
        sys.exit(f"{url}: HTTP {e.code}: {detail}")


def sample(args, messages, tools):
    """One assistant turn from the policy, with what RL needs (vLLM's token extensions)."""
    return post(
        f"{args.model_url}/chat/completions",
        {
            "model": args.model,
            "messages": messages,
            "tools": tools,
            "temperature": args.temperature,
            "logprobs": True,
            "return_tokens_as_token_ids": True,
            "return_token_ids": True,
        },
    )


def run_episode(args):
    create = {"role": "solver", "repo": args.repo, "artifact": args.artifact}
    if args.policy_version:
        create["policyVersion"] = args.policy_version
    created = post(f"{args.env}/v1/episodes", create)
    episode = created["episodeId"]
    messages = created["observation"]["messages"]
    tools = created["observation"]["tools"]
    step, turns = {"done": created.get("done", False)}, 0
    while not step["done"]:
        completion = sample(args, messages, tools)
        choice = completion["choices"][0]
        turn = {"message": choice["message"], "finish_reason": choice.get("finish_reason")}
        if completion.get("usage"):
            turn["usage"] = completion["usage"]
        if choice.get("logprobs"):
            turn["logprobs"] = choice["logprobs"]
        if completion.get("prompt_token_ids"):
            turn["prompt_token_ids"] = completion["prompt_token_ids"]
        if choice.get("token_ids"):
            turn["token_ids"] = choice["token_ids"]
        step = post(f"{args.env}/v1/episodes/{episode}/step", turn)
        messages = messages + [choice["message"]] + step["observation"]["messages"]
        turns += 1
    return {
        "episode_id": episode,
        "reward": step.get("reward"),
        "turns": turns,
        "end_reason": step.get("endReason"),
        "policy_version": args.policy_version,
    }


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--env", required=True, help="ssr serve's URL")
    p.add_argument("--model-url", required=True, help="OpenAI-compatible base URL (…/v1)")
    p.add_argument("--model", required=True)
    p.add_argument("--repo", required=True, help="a repository under ssr serve's --repo-root")
    p.add_argument("--artifact", required=True, help="an artifact under --artifact-root")
    p.add_argument("--episodes", type=int, default=1)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--policy-version", help="tag the episodes with the policy that sampled them")
    args = p.parse_args()
    for _ in range(args.episodes):
        print(json.dumps(run_episode(args)), flush=True)


if __name__ == "__main__":
    main()
