"""The user in control: kinds of proposal, and the pause and mutes every server of the user honours.

``kinds`` names what a proposal is about (one vocabulary for mutes and stats); ``store`` keeps the
pause and the mutes in a file of the user's data folder, shared by every server process.
"""
