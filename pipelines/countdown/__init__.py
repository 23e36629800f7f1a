"""Countdown: problems, a safe reward, symbolic search traces (Stream of Search / Meta-CoT) and
behavior-controlled priming sets (cognitive-behaviors paper), all from one engine, no LLM."""
